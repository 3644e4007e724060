# Every language feature at once: functions, per-replica endpoints,
# replica references, ephemeral ports, depends_on, plugins, proxies.
variable "base_port" {
  type    = number
  default = 7000
}

variable "names" {
  type    = list(string)
  default = ["a", "b", "c"]
}

locals {
  host     = "127.0.0.1"
  frontend = format("tcp://%s:%d", local.host, var.base_port)
  backend  = "tcp://${local.host}:${var.base_port + 1}"
  label    = upper(join("-", var.names))
}

plugin "text" {
  command = "./bin/topo-text"
  env     = { GOMAXPROCS = 1, TEXT_MODE = "strict" }
}

node "broker" {
  type    = "proxy"
  restart = "always"
  socket "frontend" {
    type = "ROUTER"
    bind = local.frontend
  }
  socket "backend" {
    type = "DEALER"
    bind = [local.backend]
  }
}

node "server" {
  type       = "hello-server"
  count      = length(var.names)
  reply      = "${local.label}-${var.names[count.index]}"
  depends_on = [node.broker]
  socket "in" {
    type     = "REP"
    connect  = node.broker.backend
    identity = "server-${count.index}"
    hwm      = 100
  }
}

node "client" {
  type       = "hello-client"
  requests   = min(3, 10)
  depends_on = ["server"]
  socket "out" {
    type    = "DEALER"
    connect = [node.broker.frontend]
  }
}

node "echo" {
  type  = "hello-server"
  count = 2
  socket "in" {
    type = "ROUTER"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "asker" {
  type  = "hello-client"
  count = 2
  socket "out" {
    type    = "REQ"
    connect = [node.echo[count.index].in]
  }
}

node "upper" {
  type   = "text.upper"
  suffix = "!"
  socket "in" {
    type = "REP"
    bind = ["ipc:///tmp/topo-upper.ipc"]
  }
}

node "local_pair" {
  type = "count"
  socket "in" {
    type = "pull"
    bind = "inproc://results"
  }
}

node "feeder" {
  type     = "generate"
  messages = 10
  socket "out" {
    type    = "PUSH"
    connect = ["inproc://results"]
  }
}
