# pipeline.hcl with CURVE on every edge, across three machines: the
# ventilator on edge, four workers and a hello server on workers, the
# sink on sink. Every host derives the same keys from one seed, so no
# key is written per edge and outside clients can be given a server's
# public key (see README.md).
#
#   topo validate examples/multihost/secure-pipeline.hcl
#   topo plan examples/multihost/secure-pipeline.hcl   # every edge: curve; hello.in's public key
#
# keys/example.seed ships with the example so that it runs at once; it is
# public, so the keys it derives protect nothing (validate warns that the
# file is readable by others). For real use make your own, give every
# machine a copy, and keep it private:
#
#   topo keygen -seed examples/multihost/keys/topology.seed

host "edge" {
  address = "10.0.0.1"
}

host "workers" {
  address = "10.0.0.2"
}

host "sink" {
  address = "10.0.0.3"
}

# The root of trust every host shares: each serving socket's key pair is
# derived from it and the socket's name ("sink.in").
curve {
  seed = file("keys/example.seed")
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
    bind = ["tcp://*:5557"]
    curve {} # the workers are handed its public key (and a key pair of their own)
  }
  socket "sink" {
    type    = "PUSH"
    connect = [node.sink.in] # a CURVE client of sink.in
  }
}

node "worker" {
  type  = "worker"
  host  = "workers"
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
  host  = "sink"
  tasks = 100

  socket "in" {
    type = "PULL"
    bind = ["tcp://*:5558"]
    curve {}
  }
}

# A service for clients outside the topology: a REQ that sets the public
# key `topo plan` prints under hello.in as its CURVE server key is
# answered; any other client is refused.
node "hello" {
  type = "hello-server"
  host = "workers"

  socket "in" {
    type = "REP"
    bind = ["tcp://*:5559"]
    curve {}
  }
}
