//! Fixed memory for a stack without an allocator.
//!
//! [`Resources`] holds every piece of memory a [`Stack`](crate::Stack) needs: smoltcp's socket
//! storage, the slot table, one byte arena for all socket buffers and the packet metadata
//! arrays. Size it with [`PoolConfig::sockets_needed`](crate::PoolConfig::sockets_needed), [`PoolConfig::bytes_needed`](crate::PoolConfig::bytes_needed) and
//! [`PoolConfig::packets_needed`](crate::PoolConfig::packets_needed); [`Stack::new`](crate::Stack::new) fails with `OutOfMemory`
//! (naming what is short) if it is too small. Put it in a `static` (for example with
//! `static_cell`) or on the stack of `main`.
//!
//! `Resources` is not all zero bytes (smoltcp's empty socket slots are not), so a `static` of
//! it sits in `.data` (flash as well as RAM) unless initialised at start-up. On small targets
//! give it a `BYTES` of 0 and pass the socket buffers separately to
//! [`Stack::new_in`](crate::Stack::new_in), as a zero-initialised `static [u8; N]` (`.bss`).
//!
//! Under `std`, [`Stack::new_alloc`](crate::Stack::new_alloc) takes the same memory from the
//! heap instead.

use managed::ManagedSlice;
use smoltcp::iface::SocketStorage;
#[cfg(feature = "dns")]
use smoltcp::socket::dns;
#[cfg(feature = "raw")]
use smoltcp::socket::raw;
#[cfg(feature = "udp")]
use smoltcp::socket::udp;
use unisock::ErrorKind;

use crate::error::{Error, Result};
use crate::slot::Slot;

/// DNS queries in flight at once.
#[cfg(feature = "dns")]
pub(crate) const DNS_QUERIES: usize = 2;

/// Memory for a stack of at most `SOCKETS` sockets (see [`PoolConfig::sockets_needed`](crate::PoolConfig::sockets_needed)),
/// `BYTES` bytes of socket buffers and `PACKETS` packet metadata entries per kind.
pub struct Resources<'a, const SOCKETS: usize, const BYTES: usize, const PACKETS: usize> {
    storage: [SocketStorage<'a>; SOCKETS],
    slots: [Slot; SOCKETS],
    bytes: [u8; BYTES],
    #[cfg(feature = "udp")]
    udp_meta: [udp::PacketMetadata; PACKETS],
    #[cfg(feature = "raw")]
    raw_meta: [raw::PacketMetadata; PACKETS],
    #[cfg(feature = "dns")]
    dns_queries: [Option<dns::DnsQuery>; DNS_QUERIES],
}

impl<const SOCKETS: usize, const BYTES: usize, const PACKETS: usize>
    Resources<'_, SOCKETS, BYTES, PACKETS>
{
    /// Zeroed memory (usable in a `static` initializer).
    pub const fn new() -> Self {
        Resources {
            storage: [SocketStorage::EMPTY; SOCKETS],
            slots: [Slot::EMPTY; SOCKETS],
            bytes: [0; BYTES],
            #[cfg(feature = "udp")]
            udp_meta: [udp::PacketMetadata::EMPTY; PACKETS],
            #[cfg(feature = "raw")]
            raw_meta: [raw::PacketMetadata::EMPTY; PACKETS],
            #[cfg(feature = "dns")]
            dns_queries: [const { None }; DNS_QUERIES],
        }
    }
}

impl<const SOCKETS: usize, const BYTES: usize, const PACKETS: usize> Default
    for Resources<'_, SOCKETS, BYTES, PACKETS>
{
    fn default() -> Self {
        Self::new()
    }
}

/// Where the pool's memory comes from: a borrowed [`Resources`] or (under `std`) the heap.
pub(crate) trait Memory<'a> {
    /// Whether the memory comes from the heap (sizes may follow the device).
    fn on_heap(&self) -> bool {
        false
    }
    fn storage(&mut self, n: usize) -> Result<ManagedSlice<'a, SocketStorage<'a>>>;
    fn slots(&mut self, n: usize) -> Result<ManagedSlice<'a, Slot>>;
    fn bytes(&mut self, n: usize) -> Result<ManagedSlice<'a, u8>>;
    #[cfg(feature = "udp")]
    fn udp_meta(&mut self, n: usize) -> Result<ManagedSlice<'a, udp::PacketMetadata>>;
    #[cfg(feature = "raw")]
    fn raw_meta(&mut self, n: usize) -> Result<ManagedSlice<'a, raw::PacketMetadata>>;
    #[cfg(feature = "dns")]
    fn dns_queries(&mut self) -> ManagedSlice<'a, Option<dns::DnsQuery>>;
    /// Where free pool sockets wait outside the socket set (`Inner::parked`): `n` entries on
    /// the heap; none from a borrowed [`Resources`] (free sockets then stay in the set).
    fn parking(
        &mut self,
        _n: usize,
    ) -> Result<ManagedSlice<'a, Option<smoltcp::socket::Socket<'a>>>> {
        Ok(ManagedSlice::Borrowed(&mut []))
    }
}

fn carve<'a, T>(rest: &mut &'a mut [T], n: usize, what: &'static str) -> Result<&'a mut [T]> {
    let all = core::mem::take(rest);
    if all.len() < n {
        *rest = all;
        return Err(Error::new(ErrorKind::OutOfMemory, what));
    }
    let (head, tail) = all.split_at_mut(n);
    *rest = tail;
    Ok(head)
}

/// Borrowed memory being carved up.
pub(crate) struct Borrowed<'a> {
    storage: &'a mut [SocketStorage<'a>],
    slots: &'a mut [Slot],
    bytes: &'a mut [u8],
    #[cfg(feature = "udp")]
    udp_meta: &'a mut [udp::PacketMetadata],
    #[cfg(feature = "raw")]
    raw_meta: &'a mut [raw::PacketMetadata],
    #[cfg(feature = "dns")]
    dns_queries: &'a mut [Option<dns::DnsQuery>],
}

impl<'a> Borrowed<'a> {
    pub(crate) fn new<const S: usize, const B: usize, const P: usize>(
        r: &'a mut Resources<'a, S, B, P>,
    ) -> Borrowed<'a> {
        Borrowed {
            storage: &mut r.storage,
            slots: &mut r.slots,
            bytes: &mut r.bytes,
            #[cfg(feature = "udp")]
            udp_meta: &mut r.udp_meta,
            #[cfg(feature = "raw")]
            raw_meta: &mut r.raw_meta,
            #[cfg(feature = "dns")]
            dns_queries: &mut r.dns_queries,
        }
    }
}

impl<'a> Borrowed<'a> {
    /// As [`new`](Borrowed::new), with socket buffers from `buffers` instead of `r`'s arena.
    pub(crate) fn with_buffers<const S: usize, const B: usize, const P: usize>(
        r: &'a mut Resources<'a, S, B, P>,
        buffers: &'a mut [u8],
    ) -> Borrowed<'a> {
        let mut b = Borrowed::new(r);
        b.bytes = buffers;
        b
    }
}

impl<'a> Memory<'a> for Borrowed<'a> {
    fn storage(&mut self, n: usize) -> Result<ManagedSlice<'a, SocketStorage<'a>>> {
        carve(
            &mut self.storage,
            n,
            "Resources: SOCKETS smaller than PoolConfig::sockets_needed()",
        )
        .map(Into::into)
    }
    fn slots(&mut self, n: usize) -> Result<ManagedSlice<'a, Slot>> {
        carve(
            &mut self.slots,
            n,
            "Resources: SOCKETS smaller than PoolConfig::sockets_needed()",
        )
        .map(Into::into)
    }
    fn bytes(&mut self, n: usize) -> Result<ManagedSlice<'a, u8>> {
        carve(
            &mut self.bytes,
            n,
            "socket buffer memory (Resources BYTES, or the buffers given to Stack::new_in) \
             smaller than PoolConfig::bytes_needed()",
        )
        .map(Into::into)
    }
    #[cfg(feature = "udp")]
    fn udp_meta(&mut self, n: usize) -> Result<ManagedSlice<'a, udp::PacketMetadata>> {
        carve(
            &mut self.udp_meta,
            n,
            "Resources: PACKETS smaller than PoolConfig::packets_needed()",
        )
        .map(Into::into)
    }
    #[cfg(feature = "raw")]
    fn raw_meta(&mut self, n: usize) -> Result<ManagedSlice<'a, raw::PacketMetadata>> {
        carve(
            &mut self.raw_meta,
            n,
            "Resources: PACKETS smaller than PoolConfig::packets_needed()",
        )
        .map(Into::into)
    }
    #[cfg(feature = "dns")]
    fn dns_queries(&mut self) -> ManagedSlice<'a, Option<dns::DnsQuery>> {
        core::mem::take(&mut self.dns_queries).into()
    }
}

/// Heap memory (`std`).
#[cfg(feature = "std")]
pub(crate) struct Heap;

#[cfg(feature = "std")]
fn heap_vec<T>(n: usize, make: impl Fn() -> T) -> Result<std::vec::Vec<T>> {
    let mut v = std::vec::Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::new(
            ErrorKind::OutOfMemory,
            "cannot allocate the socket pool (PoolConfig too large)",
        )
    })?;
    v.resize_with(n, make);
    Ok(v)
}

#[cfg(feature = "std")]
impl Memory<'static> for Heap {
    fn on_heap(&self) -> bool {
        true
    }
    fn storage(&mut self, n: usize) -> Result<ManagedSlice<'static, SocketStorage<'static>>> {
        Ok(heap_vec(n, || SocketStorage::EMPTY)?.into())
    }
    fn parking(
        &mut self,
        n: usize,
    ) -> Result<ManagedSlice<'static, Option<smoltcp::socket::Socket<'static>>>> {
        Ok(heap_vec(n, || None)?.into())
    }
    fn slots(&mut self, n: usize) -> Result<ManagedSlice<'static, Slot>> {
        Ok(heap_vec(n, || Slot::EMPTY)?.into())
    }
    fn bytes(&mut self, n: usize) -> Result<ManagedSlice<'static, u8>> {
        // Probe first so an impossible size is an error, then allocate zeroed memory (calloc:
        // the pages are only touched when a socket uses them). The probe is freed only after
        // the calloc: freeing a large block first makes glibc raise its mmap threshold, and
        // the calloc would then come from the heap and be cleared by memset, making every
        // buffer page resident at once (2 MiB of RSS for two 1 MiB buffers).
        let mut probe: std::vec::Vec<u8> = std::vec::Vec::new();
        probe.try_reserve_exact(n).map_err(|_| {
            Error::new(
                ErrorKind::OutOfMemory,
                "cannot allocate the socket buffers (PoolConfig too large)",
            )
        })?;
        let bytes = std::vec![0u8; n];
        drop(probe);
        Ok(bytes.into())
    }
    #[cfg(feature = "udp")]
    fn udp_meta(&mut self, n: usize) -> Result<ManagedSlice<'static, udp::PacketMetadata>> {
        Ok(heap_vec(n, || udp::PacketMetadata::EMPTY)?.into())
    }
    #[cfg(feature = "raw")]
    fn raw_meta(&mut self, n: usize) -> Result<ManagedSlice<'static, raw::PacketMetadata>> {
        Ok(heap_vec(n, || raw::PacketMetadata::EMPTY)?.into())
    }
    #[cfg(feature = "dns")]
    fn dns_queries(&mut self) -> ManagedSlice<'static, Option<dns::DnsQuery>> {
        let mut v = std::vec::Vec::new();
        v.resize_with(DNS_QUERIES, || None);
        v.into()
    }
}
