node "inside" {
  type = "count"
  socket "in" {
    type = "PULL"
    bind = "inproc://jobs"
  }
}

node "isolated" {
  type      = "generate"
  isolation = "process"
  socket "out" {
    type    = "PUSH"
    connect = ["inproc://jobs"] # ERROR: inproc:// endpoint crosses a process boundary
  }
}

node "remote" {
  type = "generate"
  host = "b"
  socket "out" {
    type    = "PUSH"
    connect = [node.inside.in] # ERROR: inproc:// endpoint crosses a process boundary
  }
}

node "plugged" {
  type = "text.upper"
  socket "in" {
    type = "REP"
    bind = "inproc://upper"
  }
}

node "asker" {
  type = "hello-client"
  socket "out" {
    type    = "REQ"
    connect = node.plugged.in # ERROR: inproc:// endpoint crosses a process boundary
  }
}

plugin "text" {
  command = "./bin/topo-text"
}
