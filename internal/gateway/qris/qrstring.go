package qris

import (
	"fmt"
	"strconv"
	"strings"
)

// qrString builds a dynamic QRIS payload in the EMVCo merchant-presented
// format (tag, two-digit length, value), ending with its CRC-16/CCITT, so
// that QR libraries parse it as a real one.
func qrString(merchantID, transactionID, orderID string, amount int64) string {
	var b strings.Builder
	tlv := func(tag, value string) { fmt.Fprintf(&b, "%s%02d%s", tag, len(value), value) }
	tlv("00", "01")
	tlv("01", "12") // dynamic: one payment
	tlv("26", sub("00", "ID.CO.CALLBACKSIM.WWW")+sub("01", transactionID))
	tlv("52", "4816")
	tlv("53", "360") // IDR
	tlv("54", strconv.FormatInt(amount, 10))
	tlv("58", "ID")
	tlv("59", truncate(merchantID, 25))
	tlv("60", "JAKARTA")
	tlv("62", sub("01", truncate(orderID, 25)))
	b.WriteString("6304")
	return b.String() + fmt.Sprintf("%04X", crc16CCITT(b.String()))
}

func sub(tag, value string) string { return fmt.Sprintf("%s%02d%s", tag, len(value), value) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// crc16CCITT is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as EMVCo
// QR codes use.
func crc16CCITT(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
