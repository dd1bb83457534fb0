"""bench/team_harness.py: telling server processes apart by who owns a loopback connection."""

from __future__ import annotations

import os
import socket

from bench.team_harness import CallerNames, pid_of_owner, pid_with_socket, tcp_inode
from core.engine.loop import new_owner_id


def test_the_owner_of_a_lease_names_its_process():
    assert pid_of_owner(new_owner_id()) == os.getpid()
    assert pid_of_owner("host:1234:abcd1234") == 1234
    assert pid_of_owner(None) is None
    assert pid_of_owner("") is None
    assert pid_of_owner("nonsense") is None


def test_a_loopback_connection_is_traced_to_the_process_holding_it():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        listen_port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", listen_port)) as client:
            accepted, _ = server.accept()
            with accepted:
                caller_port = client.getsockname()[1]
                inode = tcp_inode(caller_port, listen_port)
                assert inode
                assert pid_with_socket(inode, [os.getpid()]) == os.getpid()
                assert pid_with_socket(inode, []) is None
                names = CallerNames()
                names.proxy_port = listen_port
                names.names[os.getpid()] = "A"
                assert names(caller_port) == "A"
                assert names(caller_port) == "A"  # remembered by the socket's inode
        assert tcp_inode(caller_port, listen_port) in (None, inode)  # closed: gone (or lingering)


def test_a_connection_from_nobody_we_know_gets_no_name():
    names = CallerNames()
    names.proxy_port = 1
    assert names(2) == ""
