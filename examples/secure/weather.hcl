# The weather feed with CURVE keys derived from a seed, so a subscriber
# outside the run (another host, a pyzmq program) can be given the
# publisher's public key.
#
#   go run ./cmd/topo plan examples/secure/weather.hcl     # prints the public key
#   go run ./cmd/topo apply examples/secure/weather.hcl
#
# keys/example.seed ships with the example so that it runs at once; it is
# public, so the keys it derives protect nothing (validate warns that the
# file is readable by others). For real use make your own and keep it
# private:
#
#   go run ./cmd/topo keygen -seed examples/secure/keys/topology.seed
#   go run ./cmd/topo apply -var seed=keys/topology.seed examples/secure/weather.hcl
#
# Every socket's key pair is derived from the seed and its name
# ("weather-publisher.out"), so every process holding the seed computes
# the same keys: plan prints the publisher's public key before anything
# runs, and an outside SUB that sets it as its CURVE server key is served.

variable "seed" {
  type        = string
  default     = "keys/example.seed"
  description = "The seed file (topo keygen -seed writes one), relative to this file. The default is public: an example only."
}

variable "feed" {
  type        = string
  default     = "tcp://127.0.0.1:5556"
  description = "Where the publisher serves the feed."
}

variable "updates" {
  type        = number
  default     = 5
  description = "How many updates the client averages before finishing."
}

curve {
  seed = file(var.seed)
}

node "weather-publisher" {
  type = "weather-publisher"
  rate = 0

  socket "out" {
    type = "PUB"
    bind = [var.feed]
    curve {}
  }
}

node "weather-client" {
  type    = "weather-client"
  updates = var.updates

  socket "in" {
    type      = "SUB"
    connect   = [node.weather-publisher.out]
    subscribe = ["10001 "]
  }
}
