# The zguide parallel pipeline on three machines: the ventilator on edge,
# four workers on workers, the sink on sink. One file describes all three;
# each machine runs its share (see README.md).
#
#   topo validate examples/multihost/pipeline.hcl
#   topo plan -host workers examples/multihost/pipeline.hcl
#
# Replace the addresses with your machines' (or pass -host-address
# NAME=ADDR at apply time). Every reference between hosts resolves to the
# bound host's address: the workers connect to tcp://10.0.0.1:5557 and
# tcp://10.0.0.3:5558.

host "edge" {
  address = "10.0.0.1"
}

host "workers" {
  address = "10.0.0.2"
}

host "sink" {
  address = "10.0.0.3"
}

variable "workers" {
  type        = number
  default     = 4
  description = "How many workers pull tasks (all on host workers)."
}

node "ventilator" {
  type     = "ventilator"
  host     = "edge"
  tasks    = 100
  max_work = "100ms"

  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:5557"] # every interface: the workers connect from another machine
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in] # tcp://10.0.0.3:5558
  }
}

node "worker" {
  type  = "worker"
  host  = "workers" # or "w${count.index % 2}" with hosts w0 and w1, to spread them
  count = var.workers

  socket "in" {
    type    = "PULL"
    connect = [node.ventilator.out] # tcp://10.0.0.1:5557
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
    bind = ["tcp://*:5558"]
  }
}
