"""What a ruleset does to packets: packet sets, and (later) the chain walk built on them.

`packets` is the algebra: a `PacketSet` is a finite union of disjoint `Cube`s, each
constraining some fields of a packet (interfaces, addresses, protocol, ports, conntrack
state, marks...).  Intersection and subtraction are exact; see docs in that module for
the fields, their encodings and the few places where a match can only be bounded.
"""
