# With a seed, keys are derived per socket; peers may run on other hosts.

curve {
  seed = "[#T7:CU(qvy9Mw&BXlBil+KVG&DJBu:HuI0Z}NlQ"
}

node "publisher" {
  type = "weather-publisher"
  host = "a"
  socket "out" {
    type = "PUB"
    bind = ["tcp://*:7556"]
    curve {}
  }
}

node "client" {
  type = "weather-client"
  host = "b"
  socket "in" {
    type    = "SUB"
    connect   = [node.publisher.out]
    subscribe = [""]
  }
}
