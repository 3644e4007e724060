# The zguide parallel pipeline (taskvent / taskwork / tasksink): PUSH/PULL.
#
#   go run ./cmd/topo apply examples/pipeline.hcl
#   go run ./cmd/topo apply -var workers=8 examples/pipeline.hcl
#
# The ventilator starts only when every worker is connected (no "press
# Enter when the workers are ready"), so the tasks are spread evenly; the
# sink prints the elapsed time, about the expected cost divided by the
# number of workers.

variable "workers" {
  type        = number
  default     = 4
  description = "How many workers pull tasks."
}

# The seed programs bind tcp://*:PORT; these bind the loopback interface so the
# example stays local (edit the bind to serve peers on other hosts).

node "ventilator" {
  type     = "ventilator"
  tasks    = 100
  max_work = "100ms"

  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:5557"]
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
    bind = ["tcp://127.0.0.1:5558"]
  }
}
