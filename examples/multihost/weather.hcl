# A distributed weather feed: the zguide publisher on host feed, four
# clients for four zipcodes spread over hosts north and south (replicas
# with an even index on north, odd on south). Each client subscribes to
# its zipcode, averages `updates` updates and finishes; the publisher's
# body waits until all four subscriptions have arrived from both hosts, so
# no client misses its first updates to the slow joiner.
#
#   topo validate examples/multihost/weather.hcl
#   topo plan -host north examples/multihost/weather.hcl

host "feed" {
  address = "10.0.0.1"
}

host "north" {
  address = "10.0.0.2"
}

host "south" {
  address = "10.0.0.3"
}

variable "zips" {
  type        = list(string)
  default     = ["10001", "10002", "10003", "10004"]
  description = "One client per zipcode."
}

variable "updates" {
  type        = number
  default     = 5
  description = "How many updates each client averages before finishing."
}

node "publisher" {
  type = "weather-publisher"
  host = "feed"
  rate = 0 # as fast as possible, like the seed

  socket "out" {
    type = "PUB"
    bind = ["tcp://*:5556"]
  }
}

node "client" {
  type    = "weather-client"
  count   = length(var.zips)
  host    = count.index % 2 == 0 ? "north" : "south"
  zip     = var.zips[count.index]
  updates = var.updates

  socket "in" {
    type      = "SUB"
    connect   = [node.publisher.out] # tcp://10.0.0.1:5556
    subscribe = [var.zips[count.index]]
  }
}
