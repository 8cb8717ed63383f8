//! The chunked layout (DESIGN §7).
