locals {
  a = local.b
  b = "${local.c}x"
  c = local.a # ERROR: Cycle in local values
}

node "x" {
  type       = "count"
  depends_on = [node.y]
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7050"]
  }
}

node "y" {
  type       = "count"
  depends_on = [node.x] # ERROR: Cycle in depends_on
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7051"]
  }
}

node "z" {
  type       = "count"
  depends_on = [node.z] # ERROR: Node depends on itself
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7052"]
  }
}

node "ping" {
  type = "print"
  socket "in" {
    type    = "PAIR"
    bind    = ["tcp://127.0.0.1:7053"]
    connect = node.pong.in
  }
}

node "pong" {
  type = "print"
  socket "in" {
    type    = "PAIR"
    bind    = ["tcp://127.0.0.1:7054"]
    connect = node.ping.in
  }
}
