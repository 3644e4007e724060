node "ventilator" {
  type  = "ventilatr"
  tasks = 20
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:6557"]
  }
}

node "worker" {
  type = "worker"
  socket "in" {
    type    = "PUB"
    connect = [node.ventilator.out]
  }
  socket "out" {
    type    = "PUSH"
    connect = [node.snk.in]
  }
}
