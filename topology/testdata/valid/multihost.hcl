# The pipeline on four machines: the ventilator on edge, four workers
# spread over w0 and w1 with count.index, the sink on an IPv6 host.
host "edge" {
  address = "10.0.0.1"
}
host "w0" {
  address = "w0.example.internal"
}
host "w1" {
  address = "w1.example.internal"
}
host "sink" {
  address = "fd00::3"
}

node "ventilator" {
  type  = "ventilator"
  host  = "edge"
  tasks = 100
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:5557"] # WARNING: Plaintext bind on a network address
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type  = "worker"
  host  = "w${count.index % 2}"
  count = 4
  socket "in" {
    type    = "PULL"
    connect = [node.ventilator.out]
  }
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "sink" {
  type  = "sink"
  host  = "sink"
  tasks = 100
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:5558", "ipc:///tmp/topo-multihost-sink"] # WARNING: Plaintext bind on a network address
  }
}
