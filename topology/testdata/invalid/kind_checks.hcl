# The kinds' own checks (KindSchema.Check): values of the right type that
# the kind rejects, located at the attribute's value.

node "big" {
  type = "generate"
  size = 1e12 # ERROR: Invalid value for "size"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7040"]
  }
}

node "neg" {
  type = "generate"
  size = -1 # ERROR: Invalid value for "size"
  rate = -5 # ERROR: Invalid value for "rate"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7041"]
  }
}

node "vent" {
  type     = "ventilator"
  max_work = "soon" # ERROR: Invalid value for "max_work"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7042"]
  }
  socket "sink" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7043"]
  }
}

# Replicas differing through count.index: one diagnostic, each distinct
# message once, naming the replicas it applies to.
node "gens" {
  type  = "generate"
  count = 4
  size  = 1 - count.index # ERROR: Invalid value for "size"
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:${7050 + count.index}"]
  }
}

node "p" { # ERROR: Invalid node configuration
  type   = "print"
  format = "none"
  socket "in" {
    type = "PULL"
    bind = ["tcp://127.0.0.1:7044"]
  }
}

# A value with a type error is not also given to the check.
node "typo" {
  type = "generate"
  size = "big" # ERROR: Incorrect attribute value type
  socket "out" {
    type = "PUSH"
    bind = ["tcp://127.0.0.1:7045"]
  }
}
