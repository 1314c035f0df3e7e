//! Zeroconf: a server listening beyond loopback is advertised on the LAN
//! as `_wyoming._tcp`, the service type Home Assistant discovers Wyoming
//! servers by, so that it offers to add Hark without being told where.
//! A server on loopback is not advertised: nobody else could reach it.

use std::net::SocketAddr;

use mdns_sd::{ServiceDaemon, ServiceInfo};

/// Wyoming's service type.
pub const SERVICE_TYPE: &str = "_wyoming._tcp.local.";

/// The record that announces a server listening on `addr`, named after
/// `name` (the pipeline) and this machine's `host`.
pub fn service_info(addr: SocketAddr, name: &str, host: &str) -> Result<ServiceInfo, String> {
    let instance = format!("hark-{name}-{host}");
    // At most 63 bytes in a DNS label.
    let instance: String = instance.chars().take(63).collect();
    let host_name = format!("{host}.local.");
    let info = if addr.ip().is_unspecified() {
        // Every interface: the daemon announces each one's addresses.
        ServiceInfo::new(SERVICE_TYPE, &instance, &host_name, "", addr.port(), None)
            .map(ServiceInfo::enable_addr_auto)
    } else {
        ServiceInfo::new(
            SERVICE_TYPE,
            &instance,
            &host_name,
            addr.ip(),
            addr.port(),
            None,
        )
    };
    info.map_err(|e| format!("cannot describe the service for zeroconf: {e}"))
}

/// Advertises the server on `addr` until the returned daemon is dropped
/// with the server; `None` (and nothing sent) on loopback.
pub fn advertise(addr: SocketAddr, name: &str) -> Result<Option<ServiceDaemon>, String> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hark".into());
    let info = service_info(addr, name, &host)?;
    let daemon = ServiceDaemon::new().map_err(|e| format!("cannot start zeroconf: {e}"))?;
    daemon
        .register(info)
        .map_err(|e| format!("cannot advertise the server by zeroconf: {e}"))?;
    Ok(Some(daemon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_wyoming_the_pipeline_and_the_port() {
        let info = service_info(
            "192.168.1.20:10300".parse().unwrap(),
            "voice-assistant",
            "kitchen",
        )
        .unwrap();
        assert_eq!(
            info.get_fullname(),
            "hark-voice-assistant-kitchen._wyoming._tcp.local."
        );
        assert_eq!(info.get_port(), 10300);
        assert_eq!(info.get_hostname(), "kitchen.local.");
        let any = service_info("0.0.0.0:10300".parse().unwrap(), "x", "kitchen").unwrap();
        assert!(any.is_addr_auto(), "every interface's addresses");
    }

    #[test]
    fn loopback_is_not_advertised() {
        assert!(advertise("127.0.0.1:10300".parse().unwrap(), "x")
            .unwrap()
            .is_none());
    }
}
