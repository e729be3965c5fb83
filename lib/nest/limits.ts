/**
 * Default `maximumPacketSize` of `ServerMqttAsync` and `ClientMqttAsync`: 1 MiB. Advertised in CONNECT on MQTT 5
 * (the broker then drops larger messages for us instead of sending them) and enforced on every inbound packet on
 * both protocol versions (a larger one closes the connection with 0x95). The protocol's own maximum, 256 MB, let
 * one message cost the service 1.5 GB of memory. Raise it with the `maximumPacketSize` option.
 */
export const DEFAULT_MAXIMUM_PACKET_SIZE = 1024 * 1024;
