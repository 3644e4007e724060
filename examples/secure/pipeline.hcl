# The zguide parallel pipeline with CURVE on every edge: encrypted and
# authenticated, with no key to write.
#
#   go run ./cmd/topo apply examples/secure/pipeline.hcl
#   go run ./cmd/topo apply -var isolation=process examples/secure/pipeline.hcl
#
# Each serving socket says `curve {}`: topo makes its key pair when apply
# starts and hands its public key (and a key pair of their own) to the
# sockets that connect to it through node.NAME.SOCKET, in-process or not.
# A peer outside the run cannot know the keys, so it cannot connect: a
# plaintext client, or one with any other server key, is refused.

variable "workers" {
  type        = number
  default     = 4
  description = "How many workers pull tasks."
}

variable "isolation" {
  type        = string
  default     = "goroutine"
  description = "How the workers run: \"goroutine\", or \"process\" (each its own process)."
}

variable "tasks" {
  type        = string
  default     = "tcp://127.0.0.1:5557"
  description = "Where the ventilator serves tasks."
}

variable "results" {
  type        = string
  default     = "tcp://127.0.0.1:5558"
  description = "Where the sink collects results."
}

node "ventilator" {
  type     = "ventilator"
  tasks    = 100
  max_work = "100ms"

  socket "out" {
    type = "PUSH"
    bind = [var.tasks]
    curve {}
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type      = "worker"
  count     = var.workers
  isolation = var.isolation

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
    bind = [var.results]
    curve {}
  }
}
