node "sink" {
  type = "sink"
  taks = 100 # ERROR: Unsupported argument
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7030"]
  }
}

node "s2" {
  type  = "sink"
  tasks = "many" # ERROR: Incorrect attribute value type
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7031"]
  }
}

node "k" { # ERROR: Missing required argument
  type = "keyed"
  tags = "x" # ERROR: Incorrect attribute value type
}

node "v" { # ERROR: Missing socket
  type = "ventilator"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7032"]
  }
}

node "w" {
  type = "worker"
  socket "in" {
    type = "PUSH" # ERROR: Socket type not accepted by the kind
    bind = ["tcp://127.0.0.1:7033"]
  }
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7034"]
  }
  socket "extra" { # ERROR: Unsupported socket
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7035"]
  }
}
