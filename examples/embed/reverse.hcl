# Embedded in the program (go:embed): a kind of the program's own, "reverse",
# answers a built-in hello-client.

variable "requests" {
  type    = number
  default = 3
}

node "reverser" {
  type = "reverse"

  socket "in" {
    type = "REP"
    bind = ["inproc://reverse"]
  }
}

node "client" {
  type     = "hello-client"
  message  = "Hello, embedded topo"
  requests = var.requests

  socket "out" {
    type    = "REQ"
    connect = [node.reverser.in]
  }
}
