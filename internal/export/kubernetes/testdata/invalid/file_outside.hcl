locals {
  key = file("../secret.key") # ERROR file() path outside the topology's directory
}

node "server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["tcp://*:5555"]
  }
}
