node "a" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:${7080 + count.index}"] # ERROR: Reference to count.index outside a counted node
  }
}

node "b" {
  type  = "count"
  count = 2
  socket "in" {
    type = "PULL"
    bind = node.a.in # ERROR: Node reference not allowed here
  }
}

node "c" {
  type  = "count"
  count = length(node.a.in) # ERROR: Node reference not allowed here
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7090"]
  }
}
