//! The fake catalogue: product `i` of a prefix is always the same product (id, name, SKU,
//! price, age), so a rerun asks for exactly what the first run wrote.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::{Price, SeedProduct};

/// Seeded products are spaced this far apart in creation time, newest (index 0) first: a
/// million span about eleven and a half days, sixty to a newest-first minute bucket.
pub const SPACING_MS: i64 = 1_000;

const ADJECTIVES: &[&str] = &[
    "Rustic", "Sleek", "Ergonomic", "Compact", "Classic", "Modern", "Vintage", "Durable", "Handmade", "Foldable",
    "Portable", "Premium", "Minimal", "Sturdy", "Elegant", "Practical",
];
const MATERIALS: &[&str] = &[
    "Oak", "Steel", "Cotton", "Bamboo", "Leather", "Ceramic", "Glass", "Wool", "Granite", "Copper", "Linen", "Walnut",
];
const NOUNS: &[&str] = &[
    "Chair", "Lamp", "Table", "Mug", "Backpack", "Shelf", "Blanket", "Kettle", "Clock", "Vase", "Stool", "Bowl",
    "Notebook", "Tray", "Bench", "Basket",
];
/// Prices are log-uniform between these, in cents: many cheap products, a few dear ones.
const CHEAPEST_CENTS: f64 = 99.0;
const DEAREST_CENTS: f64 = 199_999.0;

pub struct Catalogue {
    prefix: String,
    /// Creation time of product 0; product `i` is `SPACING_MS * i` older.
    newest_ms: i64,
    seed: u64,
}

impl Catalogue {
    pub fn new(prefix: &str, newest_ms: i64) -> Catalogue {
        // FNV-1a of the prefix: another prefix is another catalogue (other ids too).
        let seed = prefix.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Catalogue { prefix: prefix.to_owned(), newest_ms, seed }
    }

    pub fn sku(&self, index: u64) -> String {
        format!("{}-{index:07}", self.prefix)
    }

    pub fn product(&self, index: u64) -> SeedProduct {
        let mut rng = StdRng::seed_from_u64(self.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
        let pick = |rng: &mut StdRng, words: &[&'static str]| words[rng.random_range(0..words.len())];
        let name = format!("{} {} {}", pick(&mut rng, ADJECTIVES), pick(&mut rng, MATERIALS), pick(&mut rng, NOUNS));
        let cents = rng.random_range(CHEAPEST_CENTS.ln()..DEAREST_CENTS.ln()).exp().round() as u64;
        let price = Price::parse(&format!("{}.{:02}", cents / 100, cents % 100)).expect("a price in range");
        SeedProduct { id, name, sku: self.sku(index), price, created_at_ms: self.newest_ms - SPACING_MS * index as i64 }
    }

    pub fn with_newest(&self, newest_ms: i64) -> Catalogue {
        Catalogue { prefix: self.prefix.clone(), newest_ms, seed: self.seed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_always_gives_the_same_product() {
        let a = Catalogue::new("SEED", 1_700_000_000_000);
        let b = Catalogue::new("SEED", 1_700_000_000_000);
        for i in [0, 1, 999_999] {
            assert_eq!(a.product(i), b.product(i));
        }
        assert_ne!(a.product(1).id, a.product(2).id);
        assert_ne!(a.product(1).id, Catalogue::new("OTHER", 1_700_000_000_000).product(1).id);
    }

    #[test]
    fn products_are_valid_as_the_api_would_take_them() {
        let c = Catalogue::new("SEED", 1_700_000_000_000);
        for i in 0..2_000 {
            let p = c.product(i);
            store::Name::parse(&p.name).expect("a valid name");
            store::Sku::parse(&p.sku).expect("a valid SKU");
            assert_eq!(p.created_at_ms, 1_700_000_000_000 - i as i64 * SPACING_MS);
            let price = p.price.as_decimal();
            assert!(price.scale() <= 2 && price >= "0.99".parse().unwrap() && price <= "1999.99".parse().unwrap(), "{price}");
        }
    }
}
