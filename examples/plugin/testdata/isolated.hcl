# A built-in kind fenced off in its own process: no plugin block needed,
# topo serves itself (`topo plugin-serve`) as the plugin.
node "source" {
  type      = "generate"
  isolation = "process"
  messages  = 1000
  size      = 16
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:0"]
  }
}

node "sink" {
  type   = "count"
  expect = 1000
  socket "in" {
    type    = "PULL"
    connect = node.source.out
  }
}
