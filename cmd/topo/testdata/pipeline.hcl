variable "workers" {
  type        = number
  default     = 2
  description = "How many workers pull tasks."
}

locals {
  tasks = "tcp://127.0.0.1:6557"
}

node "ventilator" {
  type  = "ventilator"
  tasks = 20
  socket "out" {
    type = "PUSH"
    bind = [local.tasks]
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type  = "worker"
  count = var.workers
  socket "in" {
    type    = "PULL"
    connect = [node.ventilator.out]
  }
  socket "out" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "sink" {
  type  = "sink"
  tasks = 20
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:6558"]
  }
}
