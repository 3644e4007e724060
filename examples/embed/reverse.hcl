# Embedded in the program (go:embed): a kind of the program's own, "reverse",
# answers a built-in hello-client.

variable "requests" {
  type    = number
  default = 3
}

variable "isolation" {
  type        = string
  default     = "goroutine"
  description = "goroutine, or process: the reverser in a subprocess (the program serving itself)."
}

node "reverser" {
  type      = "reverse"
  isolation = var.isolation

  socket "in" {
    type = "REP"
    bind = ["tcp://127.0.0.1:0"] # not inproc://, which cannot cross into a subprocess
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
