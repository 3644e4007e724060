# Host names that are not DNS labels, and two that map to one label.
host "Edge_Box" {
  address = "10.0.0.1"
}
host "worker_2" {
  address = "10.0.0.2"
}
host "worker-2" {
  address = "10.0.0.3"
}
host "Pool" {
  address = "10.0.0.4"
}

node "publisher" {
  type = "weather-publisher"
  host = "Edge_Box"
  socket "out" {
    type = "PUB"
    bind = ["tcp://*:15556"]
  }
}

node "client" {
  type  = "weather-client"
  host  = count.index == 0 ? "worker_2" : (count.index == 1 ? "worker-2" : "Pool")
  count = 3
  socket "in" {
    type    = "SUB"
    connect = [node.publisher.out]
  }
}
