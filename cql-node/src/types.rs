//! CQL data types as the protocol names them (native_protocol_v4.spec §6 [option] ids), and
//! consistency levels. The engine owns value encoding, decoding, literals and ordering for
//! these types (`crate::engine::value`); the protocol layer only writes their [option] form.

/// A column's type. `Varchar` and `Text` are the same type in Cassandra (id 0x000D).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Custom(String),
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    Timestamp,
    Uuid,
    Varchar,
    Varint,
    Timeuuid,
    Inet,
    Date,
    Time,
    Smallint,
    Tinyint,
    Duration,
    List(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Set(Box<ColumnType>),
    Tuple(Vec<ColumnType>),
}

impl ColumnType {
    /// The [option] id of §6.
    pub fn option_id(&self) -> u16 {
        match self {
            ColumnType::Custom(_) => 0x0000,
            ColumnType::Ascii => 0x0001,
            ColumnType::Bigint => 0x0002,
            ColumnType::Blob => 0x0003,
            ColumnType::Boolean => 0x0004,
            ColumnType::Counter => 0x0005,
            ColumnType::Decimal => 0x0006,
            ColumnType::Double => 0x0007,
            ColumnType::Float => 0x0008,
            ColumnType::Int => 0x0009,
            ColumnType::Timestamp => 0x000B,
            ColumnType::Uuid => 0x000C,
            ColumnType::Varchar => 0x000D,
            ColumnType::Varint => 0x000E,
            ColumnType::Timeuuid => 0x000F,
            ColumnType::Inet => 0x0010,
            ColumnType::Date => 0x0011,
            ColumnType::Time => 0x0012,
            ColumnType::Smallint => 0x0013,
            ColumnType::Tinyint => 0x0014,
            ColumnType::Duration => 0x0015,
            ColumnType::List(_) => 0x0020,
            ColumnType::Map(_, _) => 0x0021,
            ColumnType::Set(_) => 0x0022,
            ColumnType::Tuple(_) => 0x0031,
        }
    }
}

/// Consistency levels with their protocol [consistency] short values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    Any = 0x0000,
    One = 0x0001,
    Two = 0x0002,
    Three = 0x0003,
    Quorum = 0x0004,
    All = 0x0005,
    LocalQuorum = 0x0006,
    EachQuorum = 0x0007,
    Serial = 0x0008,
    LocalSerial = 0x0009,
    LocalOne = 0x000A,
}

impl Consistency {
    pub fn from_u16(v: u16) -> Option<Self> {
        use Consistency::*;
        Some(match v {
            0x0000 => Any,
            0x0001 => One,
            0x0002 => Two,
            0x0003 => Three,
            0x0004 => Quorum,
            0x0005 => All,
            0x0006 => LocalQuorum,
            0x0007 => EachQuorum,
            0x0008 => Serial,
            0x0009 => LocalSerial,
            0x000A => LocalOne,
            _ => return None,
        })
    }

    /// Cassandra's spelling, as it appears in error messages.
    pub fn name(self) -> &'static str {
        use Consistency::*;
        match self {
            Any => "ANY",
            One => "ONE",
            Two => "TWO",
            Three => "THREE",
            Quorum => "QUORUM",
            All => "ALL",
            LocalQuorum => "LOCAL_QUORUM",
            EachQuorum => "EACH_QUORUM",
            Serial => "SERIAL",
            LocalSerial => "LOCAL_SERIAL",
            LocalOne => "LOCAL_ONE",
        }
    }
}
