node "worker" {
  type  = "count"
  count = 2
  socket "in" {
    type = "PULL"
    bind = "tcp://*:7557" # ERROR: Endpoint bound twice # WARNING: Bind on all interfaces
  }
}

node "one" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = ["ipc:///tmp/topo-twice"]
  }
}

node "two" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = ["ipc:///tmp/topo-twice"] # ERROR: Endpoint bound twice
  }
}

node "three" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7557"] # ERROR: Endpoint bound twice
  }
}
