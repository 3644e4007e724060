resource "x" "y" { # ERROR: Unsupported block type
}

node "a" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7060"]
    hmw  = 10 # ERROR: Unsupported argument
  }
  timer "t" { # ERROR: Unexpected "timer" block
  }
}

workers = 3 # ERROR: Unsupported argument
