//! The receive buffer of the media socket.

use bytes::BytesMut;

/// Datagrams are read into one large block and split off it, so the
/// receive path allocates once per block (every few hundred packets), not
/// once per packet; the connection owns each split-off datagram.
pub(in crate::media) struct ReceiveBuffer {
    block: BytesMut,
}

impl ReceiveBuffer {
    const BLOCK: usize = 512 * 1024;
    /// Larger than any datagram on a 1500-byte MTU path, with room to spare.
    const MAX_DATAGRAM: usize = 4096;

    /// Space for the next datagram.
    pub(super) fn prepare(&mut self) -> &mut BytesMut {
        if self.block.capacity() - self.block.len() < Self::MAX_DATAGRAM {
            self.block = BytesMut::with_capacity(Self::BLOCK);
        }
        &mut self.block
    }

    /// The datagram just read.
    pub(super) fn take(&mut self) -> BytesMut {
        self.block.split()
    }

    /// `datagram`, copied into the block (from a batch's scratch area).
    pub(in crate::media) fn copy(&mut self, datagram: &[u8]) -> BytesMut {
        self.prepare().extend_from_slice(datagram);
        self.take()
    }
}

impl Default for ReceiveBuffer {
    fn default() -> Self {
        ReceiveBuffer {
            block: BytesMut::with_capacity(Self::BLOCK),
        }
    }
}
