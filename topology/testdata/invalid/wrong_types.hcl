node "a" {
  type    = "count"
  count   = "many" # ERROR: Invalid number
  restart = "sometimes" # ERROR: Invalid restart
  socket "in" {
    type = "PULLL" # ERROR: Invalid socket type
    bind = ["tcp://127.0.0.1:7070"]
    hwm  = -1 # ERROR: Invalid number
  }
}

node "b" {
  type      = 42 # ERROR: Unknown node kind
  isolation = "thread" # ERROR: Invalid isolation
  count     = 1.5 # ERROR: Invalid number
  socket "out" {
    type      = "PUSH"
    connect   = node.a.in
    subscribe = ["x"] # ERROR: subscribe on a non-SUB socket
  }
}

node "c" {
  type  = "count"
  count = 100000 # ERROR: Invalid number
  socket "in" {
    type = "PULL"
    bind = "tcp://127.0.0.1:0"
  }
}

plugin "envs" {
  command = "./bin/x"
  env     = "GOMAXPROCS=1" # ERROR: Invalid plugin env
}
