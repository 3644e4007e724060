host "a" {
  address = "10.0.0.1"
}

node "server" {
  type = "hello-server"
  host = "a"
  socket "in" {
    type = "REP"
    bind = ["tcp://10.0.0.1:5555"] # ERROR Bind on a fixed address in a pod
  }
}
