node "sink" {
  type = "sink"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7010"]
  }
}

node "a" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.snk.in] # ERROR: Reference to undeclared node
  }
}

node "b" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.input] # ERROR: Reference to undeclared socket
  }
}

node "c" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.a.out] # ERROR: Reference to a socket that binds nothing
  }
}

node "d" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = [node.sink[0].in] # ERROR: Index on a node without count
  }
}
