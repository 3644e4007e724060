plugin "upper" { # ERROR Plugin built from source cannot be exported
  source = "./plugins/upper"
}

node "hello" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["tcp://*:5555"]
  }
}
