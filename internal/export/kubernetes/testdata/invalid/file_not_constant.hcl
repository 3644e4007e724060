variable "name" {
  default = "a.key"
}
locals {
  key = file("keys/${var.name}") # ERROR file() path not constant
}

node "server" {
  type = "hello-server"
  socket "in" {
    type = "REP"
    bind = ["tcp://*:5555"]
  }
}
