//! The compact row encoding: contents survive a round trip exactly, an empty row costs
//! nothing, and damaged bytes end a read instead of panicking.

use bytes::Bytes;

use super::codec::CellRef;
use super::{Cell, Ck, NO_DELETION, Row, RowCells};

fn cell(ts: i64, v: Option<&[u8]>) -> Cell {
    Cell { ts, expire: 0, ttl: 0, value: v.map(Bytes::copy_from_slice) }
}

fn sample() -> RowCells {
    let mut c = RowCells {
        marker: Some(Cell { ts: 5, expire: 1_900_000_000, ttl: 60, value: Some(Bytes::new()) }),
        deleted_at: 4,
        cells: Vec::new(),
    };
    c.set(0, Some(cell(7, Some(b"name"))));
    c.set(3, Some(cell(8, None)));
    c.set(200, Some(Cell { ts: 9, expire: 1_800_000_000, ttl: 30, value: Some(Bytes::from(vec![7u8; 300])) }));
    c
}

#[test]
fn contents_round_trip_exactly() {
    let c = sample();
    let row = Row::from_cells(Ck::default(), &c);
    assert_eq!(row.contents(), c);
    assert_eq!(row.deleted_at(), 4);
    assert_eq!(row.cell(3), Some(CellRef { ts: 8, expire: 0, ttl: 0, value: None }));
    assert_eq!(row.cell(200).and_then(|c| c.live_value(1_700_000_000)).map(<[u8]>::len), Some(300));
    assert_eq!(row.cell(200).and_then(|c| c.live_value(1_800_000_000)), None, "expired at its second");
    assert_eq!(row.cell(1), None);
    assert_eq!(row.cell(201), None);
    assert!(row.is_live(0));
}

#[test]
fn an_empty_row_allocates_nothing_and_a_cleared_one_goes_back_to_nothing() {
    let mut row = Row::new(Ck::default());
    assert_eq!(row.encoded_len(), 0);
    assert!(!row.has_contents());
    assert_eq!(row.deleted_at(), NO_DELETION);
    row.update(|c| c.set(2, Some(cell(1, Some(b"x")))));
    assert!(row.has_contents());
    row.update(|c| c.set(2, None));
    assert_eq!(row.encoded_len(), 0);
}

#[test]
fn a_tombstone_keeps_its_timestamp_and_shadows_older_writes() {
    let mut row = Row::new(Ck::default());
    row.update(|c| c.write_cell(1, cell(10, Some(b"a")), NO_DELETION));
    row.delete(10);
    assert!(!row.has_contents());
    assert_eq!(row.deleted_at(), 10);
    row.update(|c| c.write_cell(1, cell(10, Some(b"b")), NO_DELETION));
    assert_eq!(row.cell(1), None, "a write at the tombstone's timestamp is shadowed");
    row.update(|c| c.write_cell(1, cell(11, Some(b"b")), NO_DELETION));
    assert_eq!(row.cell(1).and_then(|c| c.value), Some(&b"b"[..]));
}

#[test]
fn damaged_bytes_end_the_read_without_panicking() {
    let good = Row::from_cells(Ck::default(), &sample());
    let bytes = good.contents().encode();
    for cut in 0..bytes.len() {
        let damaged = Row::with_data_for_tests(Ck::default(), bytes[..cut].into());
        let _ = (damaged.contents(), damaged.is_live(0), damaged.cell(200), damaged.marker());
    }
    let huge_len = Row::with_data_for_tests(Ck::default(), vec![0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01].into());
    assert_eq!(huge_len.cell(0), None);
}
