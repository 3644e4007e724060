# A pipeline whose transform is a plugin node running in its own processes:
#
#   generate --PUSH/PULL--> shout[0..1] (text.upper) --PUSH/PULL--> collect
#
# Run it from the repository root:
#
#   go run ./cmd/topo apply examples/plugin/pipeline.hcl
#
# topo builds the plugin (this directory's Go package) into its cache the
# first time, then starts one plugin process per shout replica. Kill one of
# them with SIGKILL while it runs and topo restarts it.

variable "messages" {
  type        = number
  default     = 10
  description = "How many messages flow through the pipeline."
}

plugin "text" {
  source = "./"
}

node "source" {
  type     = "generate"
  messages = var.messages
  size     = 26
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "shout" {
  type   = "text.upper"
  count  = 2
  prefix = "hey "
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
  socket "out" {
    type    = "PUSH"
    connect = node.collect.in
  }
}

node "collect" {
  type   = "text.collect"
  expect = var.messages
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:0"]
  }
}
