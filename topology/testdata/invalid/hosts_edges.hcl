# Edges and placement that cannot work across machines.
host "edge" {
  address = "10.0.0.1"
}
host "sink" {
  address = "10.0.0.3"
}
host "idle" { # WARNING: Host runs nothing
  address = "10.0.0.9"
}

node "sink" {
  type = "sink"
  host = "sink"
  socket "in" {
    type = "PULL"
    bind = ["ipc:///tmp/topo-hosts-sink"]
  }
}

node "local" {
  type = "count"
  host = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:6100"]
  }
}

node "any" {
  type = "count"
  host = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:0"] # WARNING: Plaintext bind on a network address
  }
}

node "ventilator" {
  type       = "ventilator"
  host       = "edge"
  depends_on = [node.sink] # ERROR: depends_on across hosts
  socket "out" {
    type    = "PUSH"
    connect = [node.local.in] # ERROR: Cross-host reference to a loopback bind
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in] # ERROR: Cross-host reference without a tcp endpoint
  }
}

node "gen" {
  type = "generate"
  host = "edge"
  socket "out" {
    type    = "PUSH"
    connect = concat(node.any.in, ["ipc:///tmp/topo-hosts-sink"]) # ERROR: Cross-host reference to an ephemeral port # WARNING: Connect to an endpoint bound on another host
  }
}

node "pair" {
  type  = "count"
  count = 2
  host  = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6200"] # ERROR: Endpoint bound twice # WARNING: Plaintext bind on a network address
  }
}

# Replicas on different hosts may share a port.
node "spread" {
  type  = "count"
  count = 2
  host  = count.index == 0 ? "edge" : "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:6300"] # WARNING: Plaintext bind on a network address
  }
}

node "feeder" {
  type = "generate"
  host = "edge"
  socket "out" {
    type    = "PUSH"
    connect = [node.spread[1].in, node.spread[0].in]
  }
}

# A replica picked by an expression is traced per replica: pumps[1] is on
# another host than lanes[1], whose only bind is ipc.
node "lanes" {
  type  = "count"
  count = 2
  host  = count.index == 0 ? "edge" : "sink"
  socket "in" {
    type = "PULL"
    bind = ["ipc:///tmp/topo-hosts-lane-${count.index}"]
  }
}

node "pumps" {
  type  = "generate"
  count = 2
  host  = "edge"
  socket "out" {
    type    = "PUSH"
    connect = [node.lanes[count.index].in] # ERROR: Cross-host reference without a tcp endpoint
  }
}
