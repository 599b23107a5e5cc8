//! Pseudo-terminals: open a pair, read and write the master asynchronously,
//! resize it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::pty::{Winsize, openpty};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::process::PtySize;

/// The master side of a pseudo-terminal, readable and writable from tokio.
#[derive(Debug)]
pub(crate) struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, Winsize);

fn winsize(size: PtySize) -> Winsize {
    Winsize { ws_row: size.rows, ws_col: size.cols, ws_xpixel: 0, ws_ypixel: 0 }
}

impl PtyMaster {
    /// Opens a pty pair; the slave goes to the child, the master stays here.
    pub(crate) fn open(size: PtySize) -> io::Result<(PtyMaster, OwnedFd)> {
        let pair = openpty(Some(&winsize(size)), None).map_err(io::Error::from)?;
        for fd in [pair.master.as_fd(), pair.slave.as_fd()] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
        }
        let flags = OFlag::from_bits_truncate(fcntl(pair.master.as_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?);
        fcntl(pair.master.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
        // SAFETY: `pair.master` is an OwnedFd that the AsyncFd takes over; it
        // stays open and refers to the same description until dropped.
        let fd = unsafe { AsyncFd::register_with_interest(pair.master, Interest::READABLE | Interest::WRITABLE) }
            .map_err(io::Error::from)?;
        Ok((PtyMaster { fd }, pair.slave))
    }

    /// Reads output; `Ok(0)` once every slave descriptor is closed.
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(Ok(n)) => return Ok(n),
                // Linux reports a hung-up pty master as EIO: that is the end.
                Ok(Err(err)) if err.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
    }

    pub(crate) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    pub(crate) fn resize(&self, size: PtySize) -> io::Result<()> {
        // SAFETY: the fd is an open pty master owned by `self`, and the
        // pointer refers to a live, initialised Winsize for the whole call.
        unsafe { set_window_size(self.fd.get_ref().as_raw_fd(), &winsize(size)) }.map_err(io::Error::from)?;
        Ok(())
    }
}
