node "w" {
  type = "workr" # ERROR: Unknown node kind
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7020"]
  }
}

node "p" {
  type = "text.lower" # ERROR: Unknown node kind
}

node "q" {
  type = "nope.thing" # ERROR: Undeclared plugin
}

node "r" { # ERROR: Missing node type
}

plugin "text" {
  command = "./bin/topo-text"
}
