# Values of the right type that the kinds themselves reject: validate
# reports them at the attribute, as apply would refuse them.

node "big" {
  type = "generate"
  size = 1e12
  socket "out" {
    type    = "PUSH"
    connect = node.sink.in
  }
}

node "neg" {
  type = "generate"
  size = -1
  rate = -5
  socket "out" {
    type    = "PUSH"
    connect = node.sink.in
  }
}

node "vent" {
  type     = "ventilator"
  max_work = "soon"
  socket "out" {
    type    = "PUSH"
    connect = node.sink.in
  }
  socket "sink" {
    type    = "PUSH"
    connect = node.sink.in
  }
}

node "sink" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = "tcp://127.0.0.1:0"
  }
}
