# The pipeline on three machines: the ventilator on edge, four workers on
# workers, the sink on sink. The addresses are placeholders: the export
# replaces each with its host's Service DNS name.
variable "tasks" {
  type    = number
  default = 100
}

host "edge" {
  address = "10.0.0.1"
}
host "workers" {
  address = "workers.example.internal"
}
host "sink" {
  address = "10.0.0.3"
}

node "ventilator" {
  type     = "ventilator"
  host     = "edge"
  tasks    = var.tasks
  max_work = "5ms"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:15557"]
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in]
  }
}

node "worker" {
  type  = "worker"
  host  = "workers"
  count = 4
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
  host  = "sink"
  tasks = var.tasks
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:15558"]
  }
}
