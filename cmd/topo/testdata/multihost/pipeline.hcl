# The zguide pipeline on three hosts (the multi-host tests of cmd/topo):
# the ventilator on edge, four workers on workers, the sink on sink. The
# tests set the addresses (network namespaces) and the ports.
variable "edge" {
  type    = string
  default = "10.77.0.1"
}
variable "workers" {
  type    = string
  default = "10.77.0.2"
}
variable "sink" {
  type    = string
  default = "10.77.0.3"
}
variable "tasks_port" {
  type    = number
  default = 5557
}
variable "results_port" {
  type    = number
  default = 5558
}

host "edge" {
  address = var.edge
}
host "workers" {
  address = var.workers
}
host "sink" {
  address = var.sink
}

node "ventilator" {
  type     = "ventilator"
  host     = "edge"
  tasks    = 100
  max_work = "20ms"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:${var.tasks_port}"]
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
  tasks = 100
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:${var.results_port}"]
  }
}
