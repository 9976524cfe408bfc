#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Sandboxed children through GI: the flags, the properties and
sandbox_allow_path from Python, in spawn mode (a stdlib-only Python child
that writes a gipc frame by hand) and in fork mode (a Python target)."""

import errno
import os
import socket
import sys
import tempfile

import gipctest
from gipctest import GLib, Gipc

PYTHON = '/usr/bin/python3'

# The spawned child: no GI (its files are outside what NO_FILESYSTEM
# allows), just the gipc wire format on the announced write fd.
CHILD = r'''
import errno, os, socket, struct, sys

def result(func):
    try:
        func()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def make(family):
    socket.socket(family, socket.SOCK_STREAM).close()

def create(directory):
    path = os.path.join(directory, 'probe')
    with open(path, 'w') as f:
        f.write('x')
    os.unlink(path)

report = ' '.join([
    'inet=' + result(lambda: make(socket.AF_INET)),
    'inet6=' + result(lambda: make(socket.AF_INET6)),
    'unix=' + result(lambda: make(socket.AF_UNIX)),
    'pair=' + result(lambda: [s.close() for s in socket.socketpair()]),
    'hostname=' + result(lambda: open('/etc/hostname').close()),
    'allowed=' + result(lambda: create(sys.argv[1])),
])
fd = int(os.environ['GIPC_CHANNEL_FDS'].split(',')[0].split(':')[1])
data = report.encode()
os.write(fd, struct.pack('>I', len(data)) + data)
'''


def parse(report):
    return dict(item.split('=', 1) for item in report.split())


def landlock_and_seccomp():
    # Probe with a sandboxed /bin/true: no BEST_EFFORT, so a kernel that
    # lacks something fails the start.
    process = Gipc.Process.new_for_argv(['/bin/true'])
    process.props.sandbox = (Gipc.SandboxFlags.NO_NETWORK |
                             Gipc.SandboxFlags.NO_FILESYSTEM)
    try:
        process.start()
    except GLib.Error as e:
        if e.matches(Gipc.error_quark(), Gipc.Error.SANDBOX_UNAVAILABLE):
            return False
        raise
    process.join(10000)
    return True


class SandboxTests(gipctest.TestCase):

    def setUp(self):
        if not landlock_and_seccomp():
            self.skipTest('this kernel lacks Landlock or seccomp')

    def test_properties(self):
        process = Gipc.Process.new_for_argv(['/bin/true'])
        self.assertEqual(process.props.sandbox, Gipc.SandboxFlags.NONE)
        self.assertEqual(process.props.memory_limit, 0)
        flags = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.BEST_EFFORT
        process.props.sandbox = flags
        process.props.memory_limit = 1 << 30
        self.assertEqual(process.get_sandbox(), flags)
        self.assertEqual(process.get_memory_limit(), 1 << 30)
        self.assertEqual(process.props.sandbox_applied, Gipc.SandboxFlags.NONE)
        process.start()
        self.assertEqual(self.join(process), 0)
        # BEST_EFFORT is never reported as applied.
        self.assertEqual(process.get_sandbox_applied(),
                         Gipc.SandboxFlags.NO_NETWORK)

    def test_spawn(self):
        r, w = Gipc.pipe(Gipc.PipeFlags.NONE)
        with tempfile.TemporaryDirectory() as allowed:
            process = Gipc.Process.new_for_argv(
                [PYTHON, '-I', '-S', '-c', CHILD, allowed])
            process.props.sandbox = (Gipc.SandboxFlags.NO_NETWORK |
                                     Gipc.SandboxFlags.NO_FILESYSTEM)
            process.sandbox_allow_path(allowed, True)
            process.pass_channel(w)
            process.start()
            report = parse(r.receive().decode())
            self.assertEqual(self.join(process), 0)
        self.assertIn(report['inet'], ('EACCES', 'EPERM'))
        self.assertIn(report['inet6'], ('EACCES', 'EPERM'))
        # NO_NETWORK: no new socket at all, a socketpair still.
        self.assertIn(report['unix'], ('EACCES', 'EPERM'))
        self.assertEqual(report['pair'], 'ok')
        self.assertEqual(report['hostname'], 'EACCES')
        self.assertEqual(report['allowed'], 'ok')
        self.assertEqual(process.props.sandbox_applied,
                         Gipc.SandboxFlags.NO_NETWORK |
                         Gipc.SandboxFlags.NO_FILESYSTEM)
        r.close()

    def test_cat_fails_true_runs(self):
        def run(argv):
            process = Gipc.Process.new_for_argv(argv)
            process.props.sandbox = Gipc.SandboxFlags.NO_FILESYSTEM
            process.start()
            return self.join(process)
        self.assertEqual(run(['/bin/true']), 0)
        if os.path.exists('/etc/hostname'):
            self.assertNotEqual(run(['/bin/cat', '/etc/hostname']), 0)

    def test_fork(self):
        r, w = Gipc.pipe()

        def target(process, writer):
            def result(func):
                try:
                    func()
                    return 'ok'
                except OSError as e:
                    return errno.errorcode.get(e.errno, str(e.errno))
            report = ' '.join([
                'inet=' + result(lambda: socket.socket(socket.AF_INET).close()),
                'unix=' + result(lambda: socket.socket(socket.AF_UNIX).close()),
                'pair=' + result(lambda: [s.close() for s in socket.socketpair()]),
                'hostname=' + result(lambda: open('/etc/hostname').close()),
                'applied=%d' % int(process.get_sandbox_applied()),
            ])
            writer.send(report.encode())
            return 0

        process = Gipc.Process.new(target, w)
        process.pass_channel(w)
        process.props.sandbox = (Gipc.SandboxFlags.NO_NETWORK |
                                 Gipc.SandboxFlags.NO_FILESYSTEM)
        process.start()
        report = parse(r.receive().decode())
        self.assertEqual(self.join(process), 0)
        self.assertIn(report['inet'], ('EACCES', 'EPERM'))
        self.assertIn(report['unix'], ('EACCES', 'EPERM'))
        self.assertEqual(report['pair'], 'ok')
        self.assertEqual(report['hostname'], 'EACCES')
        expected = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.NO_FILESYSTEM
        self.assertEqual(int(report['applied']), int(expected))
        self.assertEqual(process.get_sandbox_applied(), expected)
        r.close()


    def test_fork_system_data(self):
        # sandbox_allow_system_data: the MIME database (what gdk-pixbuf
        # reads lazily) becomes readable, /etc/hostname stays denied.
        mime = '/usr/share/mime/mime.cache'
        if not os.path.exists(mime):
            self.skipTest('no MIME database here')

        def run(allow):
            r, w = Gipc.pipe()

            def target(process, writer):
                def result(path):
                    try:
                        open(path, 'rb').close()
                        return 'ok'
                    except OSError as e:
                        return errno.errorcode.get(e.errno, str(e.errno))
                writer.send(('mime=%s hostname=%s' % (
                    result(mime), result('/etc/hostname'))).encode())
                return 0

            process = Gipc.Process.new(target, w)
            process.pass_channel(w)
            process.props.sandbox = (Gipc.SandboxFlags.NO_NETWORK |
                                     Gipc.SandboxFlags.NO_FILESYSTEM)
            if allow:
                process.sandbox_allow_system_data()
            process.start()
            report = parse(r.receive().decode())
            self.assertEqual(self.join(process), 0)
            r.close()
            return report

        self.assertEqual(run(False)['mime'], 'EACCES')
        with_data = run(True)
        self.assertEqual(with_data['mime'], 'ok')
        if os.path.exists('/etc/hostname'):
            self.assertEqual(with_data['hostname'], 'EACCES')


if __name__ == '__main__':
    gipctest.main()
