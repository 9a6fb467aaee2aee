use super::*;

#[test]
fn nearest_rank_percentiles() {
    let p = Percentiles::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
    assert_eq!(p.count, 5);
    assert_eq!(p.p50, 3.0);
    assert_eq!(p.p99, 5.0);
    assert_eq!(p.max, 5.0);
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    let p = Percentiles::of(&hundred);
    assert_eq!((p.p50, p.p99), (50.0, 99.0));
    assert_eq!(Percentiles::of(&[]).p99, 0.0);
}
