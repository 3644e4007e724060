node "a" {
  type = "count"
  socket "in" { # ERROR: Socket has no endpoint
    type = "PULL"
  }
}

node "b" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = ["udp://127.0.0.1:7000"] # ERROR: Invalid bind endpoint
  }
}

node "c" {
  type = "generate"
  socket "out" {
    type    = "PUSH"
    connect = ["tcp://127.0.0.1"] # ERROR: Invalid connect endpoint
  }
}

node "d" {
  type = "generate"
  socket "out" {
    type = "PUSH"
    bind = [42] # ERROR: Invalid endpoint
  }
}
