# A stream with no end on three hosts (the crash test of cmd/topo): a
# rate-limited generate on gen, two relays (proxy PULL -> PUSH) on
# workers, a count on count. The tests set the addresses and the ports.
variable "gen" {
  type    = string
  default = "10.77.0.1"
}
variable "workers" {
  type    = string
  default = "10.77.0.2"
}
variable "count" {
  type    = string
  default = "10.77.0.3"
}
variable "rate" {
  type    = number
  default = 500
}
variable "in_port" {
  type    = number
  default = 7560
}
variable "out_port" {
  type    = number
  default = 7561
}

host "gen" {
  address = var.gen
}
host "workers" {
  address = var.workers
}
host "count" {
  address = var.count
}

node "generate" {
  type = "generate"
  host = "gen"
  rate = var.rate
  socket "out" {
    type = "PUSH"
    bind = ["tcp://*:${var.in_port}"]
  }
}

node "relay" {
  type  = "proxy"
  host  = "workers"
  count = 2
  socket "frontend" {
    type    = "PULL"
    connect = [node.generate.out]
  }
  socket "backend" {
    type    = "PUSH"
    connect = [node.count.in]
  }
}

node "count" {
  type = "count"
  host = "count"
  socket "in" {
    type = "PULL"
    bind = ["tcp://*:${var.out_port}"]
  }
}
