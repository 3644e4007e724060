# The zguide weather feed (wuserver / wuclient): PUB/SUB with a prefix filter.
#
#   go run ./cmd/topo apply examples/weather.hcl
#   go run ./cmd/topo apply -var zip=10002 -var updates=20 examples/weather.hcl
#
# The publisher sends random "zipcode temperature humidity" updates as fast
# as it can; the client subscribes to its zipcode (1 update in ~100,000 is
# for it), averages `updates` of them and finishes. Its subscription is on
# the wire before the publisher starts, so no update is lost to the slow
# joiner. With the defaults this takes a second or two; each extra update
# costs about 100,000 published messages.

variable "zip" {
  type        = string
  default     = "10001"
  description = "The zipcode the client subscribes to."
}

variable "updates" {
  type        = number
  default     = 5
  description = "How many updates the client averages before finishing."
}

# The seed programs bind tcp://*:PORT; these bind the loopback interface so the
# example stays local (edit the bind to serve peers on other hosts).

node "weather-publisher" {
  type = "weather-publisher"
  rate = 0 # as fast as possible, like the seed

  socket "out" {
    type = "PUB"
    bind = ["tcp://127.0.0.1:5556"]
  }
}

node "weather-client" {
  type    = "weather-client"
  zip     = var.zip
  updates = var.updates

  socket "in" {
    type      = "SUB"
    connect   = [node.weather-publisher.out]
    subscribe = [var.zip] # weather-client would subscribe to its zip by itself; explicit reads better
  }
}
