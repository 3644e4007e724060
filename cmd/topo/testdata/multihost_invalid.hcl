# What validate reports about placement across hosts.
host "edge" {
  address = "10.0.0.1"
}
host "sink" {
  address = "10.0.0.3"
}
host "spare" {
  address = "10.0.0.4"
}

node "sink" {
  type  = "sink"
  host  = "sink"
  tasks = 10
  socket "in" {
    type = "PULL"
    bind = ["ipc:///tmp/topo-multihost-invalid", "tcp://127.0.0.1:6558"]
  }
}

node "ventilator" {
  type       = "ventilator"
  host       = "edge"
  tasks      = 10
  depends_on = [node.sink]
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:0"]
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type  = "worker"
  host  = count.index == 0 ? "sink" : "egde"
  count = 2
  socket "in" {
    type    = "PULL"
    connect = [node.ventilator.out]
  }
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}
