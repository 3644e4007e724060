host "edge" {
  address = "10.0.0.1"
}
host "edge" { # ERROR: Duplicate host
  address = "10.0.0.2"
}
host "all" { # ERROR: Reserved host name
  address = "10.0.0.9"
}
host "nowhere" { # ERROR: Missing host address # WARNING: Host runs nothing
}
host "wild" { # WARNING: Host runs nothing
  address = "*" # ERROR: Invalid host address
}
host "bracketed" { # WARNING: Host runs nothing
  address = "[fd00::1]" # ERROR: Invalid host address
}
host "spaced" { # WARNING: Host runs nothing
  address = "a host" # ERROR: Invalid host address
}
host "1bad" { # ERROR: Invalid host name
  address = "10.0.0.8"
}

node "typo" {
  type = "keyed"
  key  = "k"
  host = "egde" # ERROR: Unknown host
}

node "homeless" { # ERROR: Node placed on no host
  type = "keyed"
  key  = "k"
}

node "everywhere" {
  type = "keyed"
  key  = "k"
  host = "all" # ERROR: Unknown host
}

node "spread" {
  type  = "keyed"
  key   = "k"
  count = 3
  host  = count.index < 2 ? "edge" : "edge2" # ERROR: Unknown host
}

node "uncounted" {
  type = "keyed"
  key  = "k"
  host = "w${count.index}" # ERROR: Reference to count.index outside a counted node
}
