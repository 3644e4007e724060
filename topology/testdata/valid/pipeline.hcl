# The zguide's parallel pipeline: ventilator, workers, sink.
variable "workers" {
  type        = number
  default     = 4
  description = "How many workers pull tasks."
}

locals {
  tasks = "tcp://*:5557"
}

node "ventilator" {
  type  = "ventilator"
  tasks = 100
  socket "out" {
    type = "PUSH"
    bind = [local.tasks] # WARNING: Bind on all interfaces
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
  tasks = 100
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:5558"] # WARNING: Bind on all interfaces
  }
}
